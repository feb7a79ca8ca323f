"""python-gitlab (Debian's python3-gitlab) against a real Baton, started by
cmd/baton/compat_clients_test.go, which pushed compat/fixture as root/compat
(FIRST_SHA tagged v1.0, SECOND_SHA on main). Every step asserts the values
the client returns, not only that it raised nothing."""

import base64
import os
import sys
import time

import gitlab
import requests

env = os.environ
gl = gitlab.Gitlab(env["BATON_URL"], private_token=env["BATON_TOKEN"])
FIRST, SECOND = env["FIRST_SHA"], env["SECOND_SHA"]
passed = 0


def step(name):
    def run(fn):
        global passed
        try:
            fn()
        except Exception:
            print(f"FAIL {name}", flush=True)
            raise
        passed += 1
        print(f"ok   {name}", flush=True)

    return run


def wait_for(project, pipeline_id, *want):
    for _ in range(600):
        pl = project.pipelines.get(pipeline_id)
        if pl.status in want:
            return pl
        time.sleep(0.1)
    raise AssertionError(f"pipeline {pipeline_id} never reached {want}")


def raw(path):
    """A request to Baton's own routes, which the client has no method for."""
    return requests.get(f"{env['BATON_URL']}/api/v4{path}", headers={"PRIVATE-TOKEN": env["BATON_TOKEN"]}, timeout=30)


project = gl.projects.get(env["PROJECT"])
state = {}


@step("projects: get by path, list, settings")
def _():
    assert project.id == int(env["PROJECT_ID"]), project.id
    assert project.path_with_namespace == "root/compat"
    assert [p.id for p in gl.projects.list(search="compat")] == [project.id]
    project.description = "from python-gitlab"
    project.build_timeout = 2400
    project.save()
    again = gl.projects.get(project.id)
    assert (again.description, again.build_timeout) == ("from python-gitlab", 2400), again.attributes


@step("pipelines: create with variables, get, variables")
def _():
    pl = project.pipelines.create({"ref": "main", "variables": [{"key": "WHO", "value": "python"}]})
    assert (pl.source, pl.sha, pl.name, pl.user["username"]) == ("api", SECOND, "compat api", "root"), pl.attributes
    assert [(v.key, v.value) for v in pl.variables.list()] == [("WHO", "python")]
    state["pipeline"] = wait_for(project, pl.id, "success")


@step("pipelines: list with filters")
def _():
    pl = state["pipeline"]
    everything = project.pipelines.list(get_all=True)
    assert len(everything) == 3, len(everything)
    pushes = [p.id for p in everything if p.source == "push"]

    def ids(**filters):
        return [p.id for p in project.pipelines.list(get_all=True, **filters)]

    assert ids(name="compat api") == [pl.id]
    assert ids(source="push") == pushes
    assert ids(created_before=pl.created_at) == pushes
    assert ids(updated_after=pl.updated_at) == []
    assert ids(yaml_errors=True) == []
    assert ids(status="success", ref="main") == [p.id for p in everything if p.ref == "main"]


@step("pipelines: latest of a ref without pipelines is 404")
def _():
    try:
        gl.http_get(f"/projects/{project.id}/pipelines/latest", query_data={"ref": "no-such-branch"})
    except gitlab.GitlabHttpError as e:
        assert e.response_code == 404, e.response_code
    else:
        raise AssertionError("latest pipeline of an unknown ref answered")


@step("jobs: list, get, trace, commit")
def _():
    pl = state["pipeline"]
    jobs = pl.jobs.list(get_all=True)
    assert sorted((j.name, j.status) for j in jobs) == [("build", "success"), ("test", "success")]
    build = project.jobs.get(next(j.id for j in jobs if j.name == "build"))
    assert build.pipeline["id"] == pl.id
    assert build.commit["id"] == SECOND and build.commit["title"] == "Second commit"
    assert (build.commit["author_name"], build.commit["author_email"]) == (env["AUTHOR_NAME"], env["AUTHOR_EMAIL"])
    assert build.commit["created_at"]
    assert b"built for python" in build.trace()
    state["build"] = build


@step("artifacts: GitLab's and Baton's routes")
def _():
    build, pl = state["build"], state["pipeline"]
    assert build.artifacts()[:2] == b"PK"
    assert build.artifact("out/hello.txt") == b"hello python\n"
    assert project.artifacts.download("main", "build")[:2] == b"PK"
    assert project.artifacts.raw("main", "out/hello.txt", "build") == b"hello python\n"
    r = raw(f"/projects/{project.id}/pipelines/{pl.id}/artifacts/raw/out/hello.txt?job=build")
    assert (r.status_code, r.content) == (200, b"hello python\n"), r.status_code
    r = raw(f"/projects/{project.id}/repository/commits/{SECOND}/artifacts?job=build")
    assert r.headers["Content-Type"] == "application/zip" and r.content[:2] == b"PK"


@step("jobs: erase removes the log and the artifacts")
def _():
    build = state["build"]
    build.erase()
    after = project.jobs.get(build.id)
    assert after.erased_at, after.attributes
    assert after.trace() == b""
    assert after.attributes["artifacts"] == [] and "artifacts_file" not in after.attributes
    try:
        after.artifacts()
    except gitlab.GitlabGetError as e:
        assert e.response_code == 404
    else:
        raise AssertionError("artifacts of an erased job answered")


@step("pipelines: cancel and retry")
def _():
    pl = project.pipelines.create({"ref": "main", "variables": [{"key": "SLOW", "value": "yes"}]})
    for _ in range(600):
        if any(j.name == "slow" and j.status == "running" for j in pl.jobs.list(get_all=True)):
            break
        time.sleep(0.1)
    canceled = pl.cancel()
    assert isinstance(canceled, dict), type(canceled)
    assert canceled["id"] == pl.id and canceled["status"] in ("canceling", "canceled"), canceled
    wait_for(project, pl.id, "canceled")
    retried = pl.retry()
    assert isinstance(retried, dict), f"retry returned {type(retried)}"
    assert retried["id"] == pl.id and retried["status"] in ("created", "pending", "running"), retried
    pl.cancel()
    wait_for(project, pl.id, "canceled")


@step("triggers: create, get, save, list, trigger")
def _():
    t = project.triggers.create({"description": "deploy hook"})
    assert t.token.startswith("glptt-")
    got = project.triggers.get(t.id)
    assert got.description == "deploy hook"
    got.description = "renamed"
    got.save()
    assert [x.description for x in project.triggers.list()] == ["renamed"]
    pl = project.trigger_pipeline("main", t.token, variables={"WHO": "trigger"})
    assert pl.source == "trigger"
    wait_for(project, pl.id, "success")
    build = next(j for j in pl.jobs.list(get_all=True) if j.name == "build")
    assert b"built for trigger" in project.jobs.get(build.id).trace()


@step("members: add, list, list all")
def _():
    m = project.members.create({"user_id": int(env["DEV_ID"]), "access_level": 30})
    assert (m.id, m.username, m.access_level) == (int(env["DEV_ID"]), "dev", 30), m.attributes
    assert [(x.username, x.access_level) for x in project.members.list()] == [("dev", 30)]
    everyone = sorted((x.username, x.access_level) for x in project.members_all.list(get_all=True))
    assert everyone == [("dev", 30), ("root", 50)], everyone


@step("runners: list, enable, disable")
def _():
    rid = int(env["RUNNER_ID"])
    assert rid not in [r.id for r in project.runners.list(get_all=True)]
    enabled = project.runners.create({"runner_id": rid})
    assert enabled.id == rid
    assert rid in [r.id for r in project.runners.list(get_all=True)]
    project.runners.delete(rid)
    assert rid not in [r.id for r in project.runners.list(get_all=True)]


@step("repository: branches, tags, commits")
def _():
    assert [(b.name, b.default, b.commit["id"]) for b in project.branches.list()] == [("main", True, SECOND)]
    assert project.branches.get("main").commit["title"] == "Second commit"
    assert [(t.name, t.message, t.commit["id"]) for t in project.tags.list()] == [("v1.0", "first release", FIRST)]
    assert [c.id for c in project.commits.list(ref_name="main", get_all=True)] == [SECOND, FIRST]
    # "path" is python-gitlab's own keyword (the URL): pass it as a query parameter.
    touching = project.commits.list(query_parameters={"path": "docs/guide.md"}, get_all=True)
    assert [c.id for c in touching] == [FIRST]
    assert [c.id for c in project.commits.list(since="2999-01-01T00:00:00Z", get_all=True)] == []
    c = project.commits.get(SECOND)
    assert c.parent_ids == [FIRST] and c.stats == {"additions": 2, "deletions": 0, "total": 2}, c.attributes


@step("repository: tree, files, raw, compare")
def _():
    tree = project.repository_tree(recursive=True, get_all=True)
    assert sorted(f"{e['type']}:{e['path']}" for e in tree) == [
        "blob:.gitlab-ci.yml", "blob:README.md", "blob:docs/guide.md", "tree:docs"]
    f = project.files.get(file_path="docs/guide.md", ref="v1.0")
    assert f.decode() == b"The guide.\n" and f.last_commit_id == FIRST
    assert base64.b64decode(f.content) == b"The guide.\n"
    assert b"More." in project.files.raw(file_path="README.md", ref="main")
    cmp = project.repository_compare("v1.0", "main")
    assert [c["id"] for c in cmp["commits"]] == [SECOND]
    assert [d["new_path"] for d in cmp["diffs"]] == ["README.md"] and "+More." in cmp["diffs"][0]["diff"]


@step("commit statuses: report and list")
def _():
    commit = project.commits.get(SECOND)
    s = commit.statuses.create({"state": "running", "name": "lint", "target_url": "https://ci.example/1"})
    assert (s.status, s.name, s.ref, s.target_url) == ("running", "lint", "main", "https://ci.example/1"), s.attributes
    commit.statuses.create({"state": "success", "name": "lint", "coverage": 88.5})
    got = [(x.name, x.status, x.coverage) for x in commit.statuses.list()]
    assert got == [("lint", "success", 88.5)], got


print(f"{passed} passed, 0 failed")
sys.exit(0)
