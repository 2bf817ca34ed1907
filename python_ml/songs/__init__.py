"""songs"""

# The study's results table (Markdown), in the reports folder: the songs step writes it, the
# report page links to it.
RESULTS_FILE = "songs_2023_results.md"
