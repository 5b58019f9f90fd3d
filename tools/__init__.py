"""Developer tools: screenshots (python -m tools.screenshots), test dependencies (install_test_deps.sh)."""
