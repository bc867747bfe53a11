"""The language server (`seg lsp`): editor requests → answers from the project's analysis.

`workspace` keeps each project's files (open documents override the disk) and its
latest analysis; `recovery` salvages the parts of half-typed files; `index` finds
every name's declaration and uses; `features` answers hover, completion, rename and
the rest; `server` is the pygls glue. Only `server` imports pygls.
"""
