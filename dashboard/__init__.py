"""The officers' dashboard (Streamlit): streamlit_app.py is the entry point, `pde dashboard` serves it."""
