"""SQLAlchemy models, one module per table; import `app.models.registry` to load them all."""
