"""The pages for advisors and reviewers (/ui/...) and GET /v1/me."""
