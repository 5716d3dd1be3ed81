"""Conservazione use-cases (issue 7): the imperative shell joining the pure archive code
(handlers/archive) with the store (tables, WORM backends). Functions take the session first
and never commit, like store functions, so the callers' transactions decide visibility."""
