"""The dashboard pages: each module has a ``render()`` that Streamlit runs as the page script."""
