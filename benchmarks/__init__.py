"""Side-by-side benchmarks: seglab vs the library call a user would write, vs the memory floor."""
