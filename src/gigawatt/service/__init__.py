"""The gigawatt service: a REST API, a durable run queue and a real database.

Needs the `service` extra (fastapi, uvicorn, sqlalchemy, alembic); the core never imports it.
"""
