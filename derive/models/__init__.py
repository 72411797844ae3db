"""Network families; the presets in ``derive.presets`` are instances of them."""
