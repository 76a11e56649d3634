"""The book's experiments as runnable labs: discovery, the API a lab's procedure
uses, checks against the book's claims, and the report."""
