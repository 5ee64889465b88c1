"""What every JSON API of the site shares: one error base that names its field (api/errors.py), the
handler that renders it (api/handler.py), cursor pages (api/pages.py), checked query filters
(api/query.py) and per-user throttles (api/throttles.py)."""
