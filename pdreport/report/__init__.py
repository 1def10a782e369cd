"""The Word report: official-document formatting, charts and rendering."""
