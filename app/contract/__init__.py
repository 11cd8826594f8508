"""The API's contract as integrators read it: what the OpenAPI document declares beyond what FastAPI writes
by itself, built from the code so that it cannot drift from it."""
