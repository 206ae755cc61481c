"""HTML and SVG drawn from plain data: the inspection record page and its timeline."""
