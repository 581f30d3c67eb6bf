"""The Session panel: what this session did, with the active model's card."""
