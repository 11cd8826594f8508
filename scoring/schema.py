"""Print the JSON Schema of a template file: ``python -m scoring.schema > questionnaires/schema.json``."""

import json

from scoring.template import Template


def schema_text() -> str:
    """The JSON Schema of a template, formatted exactly as committed in questionnaires/schema.json."""
    return json.dumps(Template.json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write the schema to standard output."""
    print(schema_text(), end="")


if __name__ == "__main__":
    main()
