"""E-mail the season runs on: invitations, password resets, reminders and the commission's notices.

- ``outbox``: a notice is written (``notify``) in the same transaction as the event it tells of, one row per
  recipient, unique by (event, occurrence, recipient); a job delivers it.
- ``delivery``: that job. Each notice is claimed by one worker, marked ``sending`` (committed) before it is
  handed to the SMTP server and ``sent`` after the server's 250: a notice is sent at most once, and one whose
  worker died in between is marked ``uncertain`` for a person to look at, never sent again by itself.
- ``render``: the Jinja2 templates (plain text and HTML, Bahasa Indonesia); ``transport``: SMTP (``smtplib``)
  or, in development without SMTP, the log; ``tokens``: the single-use links to set a password.
"""
