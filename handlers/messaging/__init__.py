"""Pure parts of mass messaging (issue 8): validation, templates, choice, states, rate maths.

Nothing here does I/O: the store, the runners and the channels call these functions with data.
"""
