"""Where a run came from: the git commit and branch and the CI run, from what CI sets.

Each value is the first one set among perfgate's own variable (``PERFGATE_GIT_COMMIT``,
``PERFGATE_GIT_BRANCH``, ``PERFGATE_CI_RUN_ID``) and those of GitHub Actions, GitLab CI,
Buildkite, CircleCI, Jenkins, Azure Pipelines and Drone; outside CI the commit and the
branch come from ``git`` in the targets file's folder, when it is a repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from perfgate_history.store import Provenance

COMMIT = ("PERFGATE_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT",
          "CIRCLE_SHA1", "GIT_COMMIT", "BUILD_SOURCEVERSION", "DRONE_COMMIT_SHA")
#: GitHub's GITHUB_HEAD_REF is the branch of a pull request (empty on a push).
BRANCH = ("PERFGATE_GIT_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME",
          "BUILDKITE_BRANCH", "CIRCLE_BRANCH", "GIT_BRANCH", "BUILD_SOURCEBRANCHNAME",
          "DRONE_BRANCH")
CI_RUN = ("PERFGATE_CI_RUN_ID", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID",
          "CIRCLE_WORKFLOW_ID", "BUILD_TAG", "BUILD_BUILDID", "DRONE_BUILD_NUMBER")


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def git(folder: Path, *args: str) -> str | None:
    """``git args...`` in ``folder``: its output, or None outside a repository."""
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def provenance(folder: Path, env: Mapping[str, str] | None = None) -> Provenance:
    """The commit, branch and CI run of a run of the targets file in ``folder``."""
    env = os.environ if env is None else env
    commit = _first(env, COMMIT)
    branch = _first(env, BRANCH)
    if branch is not None and env.get("GIT_BRANCH") == branch:  # Jenkins: origin/main
        branch = branch.removeprefix("origin/")
    if commit is None:
        commit = git(folder, "rev-parse", "HEAD")
    if branch is None:
        found = git(folder, "rev-parse", "--abbrev-ref", "HEAD")
        branch = found if found != "HEAD" else None  # a detached head has no branch
    return Provenance(commit=commit, branch=branch, ci_run_id=_first(env, CI_RUN))


def history_name(targets_path: Path, configured: str | None = None) -> str:
    """The name a targets file's runs are kept under: ``configured``, else its path in its
    git repository (the same in every clone), else its absolute path."""
    if configured:
        return configured
    path = targets_path.resolve()
    top = git(path.parent, "rev-parse", "--show-toplevel")
    if top is not None:
        try:
            return path.relative_to(Path(top).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)
