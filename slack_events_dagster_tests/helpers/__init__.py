"""What tests share that is not a fixture: builders, sample data, oracles, child
processes, table comparisons and the reliability harness.

Tests import these modules, never another test module (test_test_imports.py checks it);
fixtures stay in the conftest.py files. bench/ may import them too.
"""
