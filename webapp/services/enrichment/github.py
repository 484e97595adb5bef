"""GitHub: a repository's stars, description and URL from the REST API."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app

from .http import FetchError, get_json

SERVICE = "GitHub"
# GitHub's own rules: owner 1-39 letters, digits or single inner hyphens; name of . _ - and
# alphanumerics (but not "." or ".."), at most 100 characters.
OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
NAME = r"[A-Za-z0-9._-]{1,100}"
REPO_RE = re.compile(rf"(?P<owner>{OWNER})/(?P<name>{NAME})")
URL_RE = re.compile(rf"https://(?:www\.)?github\.com/(?P<path>{OWNER}/{NAME}?)/?", re.IGNORECASE)
REPO_HELP = "Give the repository as owner/name or as its https://github.com/owner/name address."


def normalise_repo(value: str | None) -> str | None:
    """Return "owner/name" for `owner/name` or its github.com URL; None for blank; else raise.

    Raises ValueError with a message for people when the value names no repository.
    """
    value = (value or "").strip()
    if not value:
        return None
    match = URL_RE.fullmatch(value)
    if match:
        value = match.group("path")
        if value.endswith(".git"):
            value = value[:-4]
    match = REPO_RE.fullmatch(value)
    if not match or match.group("name") in {".", ".."}:
        raise ValueError(REPO_HELP)
    return f"{match.group('owner')}/{match.group('name')}"


def fetch_repo(full_name: str) -> dict[str, Any]:
    """The repository's stars, description and URL, as the columns store them."""
    config = current_app.config
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if config.get("GITHUB_TOKEN"):
        headers["Authorization"] = f"Bearer {config['GITHUB_TOKEN']}"
    body = get_json(SERVICE, f"{config['GITHUB_API_BASE'].rstrip('/')}/repos/{full_name}",
                    headers=headers, not_found="repository not found")
    stars = body.get("stargazers_count")
    description = body.get("description")
    url = body.get("html_url")
    if not isinstance(stars, int) or isinstance(stars, bool) or stars < 0:
        raise FetchError(f"{SERVICE} sent an unexpected answer")
    if not isinstance(description, str):
        description = None
    # Only a web address becomes a link; anything else falls back to the canonical one.
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 255:
        url = f"https://github.com/{full_name}"
    return {
        "repo_stars": stars,
        "repo_description": description[:1000] if description else None,
        "repo_url": url,
    }
