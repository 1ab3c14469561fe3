"""``python -m qworkbench`` runs the ``qwb`` command line."""

from qworkbench.cli import main

if __name__ == "__main__":
    main()
