"""`python -m mockserver` is the `mockserver` command."""
from .cli import main

if __name__ == "__main__":
    main()
