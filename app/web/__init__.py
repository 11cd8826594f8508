"""Server-rendered pages in Bahasa Indonesia for PPID operators, verifiers and the commission."""
