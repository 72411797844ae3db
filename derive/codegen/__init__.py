"""Generated code: a plan of what runs where (plan.py), laid out by Jinja2 templates (render.py)."""
