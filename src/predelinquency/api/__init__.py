"""REST API: `create_app(settings)` in api/app.py builds the FastAPI app that `pde api` serves with uvicorn."""
