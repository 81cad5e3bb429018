"""One module per upstream integration; each checks the installed version when imported."""
