"""Reports people would rather see than read: self-contained HTML with plotly charts."""
