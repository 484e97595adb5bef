"""The service layer: the one place that queries the database and applies the access rules.

Pages, htmx fragments, the CLI and the JSON API all call these functions; they take the
acting user and plain values, return model objects, and raise `services.errors` exceptions.
"""
