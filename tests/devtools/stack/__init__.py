"""`make run` and `make demo` as processes: how they stop, and two stacks side by side."""
