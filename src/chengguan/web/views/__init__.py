"""Page views, one module per area (see ../urls.py). Views are thin: parse the input, get objects
through the permission chokepoint, call one service, render."""
