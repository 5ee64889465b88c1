"""What every JSON API of the site shares: errors that name their field (api/errors.py)."""
