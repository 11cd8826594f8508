"""Webhooks: a commission's administrators register endpoints that hear of the commission's events.

- ``outbox``: a domain that makes an event calls ``emit`` in its own transaction; one delivery row per
  endpoint subscribed, sharing the event's id.
- ``addresses``: which URLs an endpoint may have, checked when it is registered and again at every delivery
  (the rules of the evidence link checker, plus the allow list of on-premise hosts).
- ``delivery``: the ``webhooks`` job that posts the deliveries (signed as Standard Webhooks asks), retries
  them with backoff for a day, and the periodic duty that keeps it moving.
- ``service``, ``routes``, ``schemas``: registering, listing and removing endpoints, and their deliveries.
"""
