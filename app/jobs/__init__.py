"""Long work off the request: jobs asked for through the API, the pages or the command line, queued, run by
workers (procrastinate on PostgreSQL, a thread of the server on SQLite), watched while they run, and the files
they make kept for a while."""
