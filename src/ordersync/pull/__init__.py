"""Stage 3, monday → database: page the board (``pull``) or receive its webhooks (``receiver``),
record the columns people own, settle items gone from monday."""
