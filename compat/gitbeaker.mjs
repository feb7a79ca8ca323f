// @gitbeaker/rest against a real Baton (started by
// cmd/baton/compat_clients_test.go, which pushed compat/fixture as
// root/compat: FIRST_SHA tagged v1.0, SECOND_SHA on main). Every step
// asserts the values the client returns, not only that it did not throw.
import assert from 'node:assert/strict';
import { Gitlab } from '@gitbeaker/rest';

const env = process.env;
const url = env.BATON_URL;
const api = new Gitlab({ host: url, token: env.BATON_TOKEN });
const project = env.PROJECT;
const pid = Number(env.PROJECT_ID);
const devId = Number(env.DEV_ID);

let passed = 0;
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.log(`FAIL ${name}`);
    throw e;
  }
  passed++;
  console.log(`ok   ${name}`);
}

async function status(fn) {
  try {
    await fn();
  } catch (e) {
    return e.cause?.response?.status;
  }
  return 200;
}

async function waitFor(pipelineId, ...want) {
  for (let i = 0; i < 600; i++) {
    const pl = await api.Pipelines.show(project, pipelineId);
    if (want.includes(pl.status)) return pl;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pipeline ${pipelineId} never reached ${want}`);
}

// raw is a request Baton's own routes need (no client method for them).
async function raw(path) {
  const res = await fetch(`${url}/api/v4${path}`, { headers: { 'PRIVATE-TOKEN': env.BATON_TOKEN } });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

let apiPipeline, build;

await step('projects: show by path and list', async () => {
  const p = await api.Projects.show(project);
  assert.equal(p.id, pid);
  assert.equal(p.path_with_namespace, 'root/compat');
  assert.equal(p.default_branch, 'main');
  const all = await api.Projects.all({ search: 'compat' });
  assert.deepEqual(all.map((x) => x.id), [pid]);
});

await step('project settings: PUT and read back', async () => {
  const p = await api.Projects.edit(pid, { description: 'from gitbeaker', buildTimeout: 1800 });
  assert.equal(p.description, 'from gitbeaker');
  assert.equal(p.build_timeout, 1800);
  assert.equal((await api.Projects.show(pid)).build_timeout, 1800);
});

await step('pipelines: create with variables', async () => {
  apiPipeline = await api.Pipelines.create(pid, 'main', { variables: [{ key: 'WHO', value: 'gitbeaker' }] });
  assert.equal(typeof apiPipeline, 'object');
  assert.equal(apiPipeline.source, 'api');
  assert.equal(apiPipeline.sha, env.SECOND_SHA);
  assert.equal(apiPipeline.name, 'compat api');
  assert.equal(apiPipeline.user.username, 'root');
  const vars = await api.Pipelines.allVariables(pid, apiPipeline.id);
  assert.deepEqual(vars.map((v) => [v.key, v.value]), [['WHO', 'gitbeaker']]);
  apiPipeline = await waitFor(apiPipeline.id, 'success');
});

await step('pipelines: list with filters', async () => {
  const ids = async (opts) => (await api.Pipelines.all(pid, opts)).map((p) => p.id);
  const all = await api.Pipelines.all(pid);
  assert.equal(all.length, 3);
  const pushes = all.filter((p) => p.source === 'push');
  assert.deepEqual(await ids({ name: 'compat api' }), [apiPipeline.id]);
  assert.deepEqual(await ids({ source: 'push' }), pushes.map((p) => p.id));
  assert.deepEqual(await ids({ createdBefore: apiPipeline.created_at }), pushes.map((p) => p.id));
  assert.deepEqual(await ids({ createdAfter: pushes[0].created_at }), [apiPipeline.id]);
  assert.deepEqual(await ids({ updatedAfter: apiPipeline.updated_at }), []);
  assert.deepEqual(await ids({ yamlErrors: true }), []);
  assert.deepEqual(await ids({ ref: 'v1.0' }), all.filter((p) => p.ref === 'v1.0').map((p) => p.id));
  assert.deepEqual(await ids({ sha: env.FIRST_SHA }), all.filter((p) => p.ref === 'v1.0').map((p) => p.id));
});

await step('pipelines: get, latest, latest of a ref without pipelines', async () => {
  const pl = await api.Pipelines.show(pid, apiPipeline.id);
  assert.equal(pl.status, 'success');
  assert.equal(pl.detailed_status.group, 'success');
  assert.equal((await api.Pipelines.showLatest(pid, { ref: 'main' })).id, apiPipeline.id);
  assert.equal(await status(() => api.Pipelines.showLatest(pid, { ref: 'no-such-branch' })), 404);
});

await step('jobs: list, get, trace, commit', async () => {
  const jobs = await api.Jobs.all(pid, { pipelineId: apiPipeline.id });
  assert.deepEqual(jobs.map((j) => [j.name, j.status]).sort(), [['build', 'success'], ['test', 'success']]);
  build = jobs.find((j) => j.name === 'build');
  const shown = await api.Jobs.show(pid, build.id);
  assert.equal(shown.pipeline.id, apiPipeline.id);
  assert.equal(shown.artifacts_file.filename, 'artifacts.zip');
  assert.equal(shown.commit.id, env.SECOND_SHA);
  assert.equal(shown.commit.title, 'Second commit');
  assert.equal(shown.commit.author_name, env.AUTHOR_NAME);
  assert.equal(shown.commit.author_email, env.AUTHOR_EMAIL);
  assert.ok(!Number.isNaN(Date.parse(shown.commit.created_at)));
  assert.match(await api.Jobs.showLog(pid, build.id), /built for gitbeaker/);
  const projectJobs = await api.Jobs.all(pid, { scope: ['success'] });
  assert.ok(projectJobs.some((j) => j.id === build.id));
});

await step("artifacts: GitLab's routes", async () => {
  const zip = Buffer.from(await (await api.JobArtifacts.downloadArchive(pid, { jobId: build.id })).arrayBuffer());
  assert.equal(zip.subarray(0, 2).toString(), 'PK');
  const one = await api.JobArtifacts.downloadArchive(pid, { jobId: build.id, artifactPath: 'out/hello.txt' });
  assert.equal(typeof one === 'string' ? one : await one.text(), 'hello gitbeaker\n');
  const byRef = await api.JobArtifacts.downloadArchive(pid, { ref: 'main', job: 'build', artifactPath: 'out/hello.txt' });
  assert.equal(typeof byRef === 'string' ? byRef : await byRef.text(), 'hello gitbeaker\n');
});

await step("artifacts: Baton's pipeline and commit routes", async () => {
  const file = await raw(`/projects/${pid}/pipelines/${apiPipeline.id}/artifacts/raw/out/hello.txt?job=build`);
  assert.equal(file.status, 200);
  assert.equal(file.body.toString(), 'hello gitbeaker\n');
  const zip = await raw(`/projects/${pid}/pipelines/${apiPipeline.id}/artifacts?job=build`);
  assert.equal(zip.type, 'application/zip');
  const tree = await raw(`/projects/${pid}/pipelines/${apiPipeline.id}/artifacts/tree?job=build&recursive=true`);
  assert.equal(tree.type, 'application/json');
  assert.ok(JSON.parse(tree.body).some((e) => e.path === 'out/hello.txt'));
  const byCommit = await raw(`/projects/${pid}/repository/commits/${env.SECOND_SHA}/artifacts/raw/out/hello.txt?job=build`);
  assert.equal(byCommit.body.toString(), 'hello gitbeaker\n');
});

await step('jobs: erase removes the log and the artifacts', async () => {
  const erased = await api.Jobs.erase(pid, build.id);
  assert.equal(typeof erased, 'object');
  assert.ok(erased.erased_at);
  assert.deepEqual(erased.artifacts, []);
  assert.equal(await api.Jobs.showLog(pid, build.id), '');
  assert.equal(await status(() => api.JobArtifacts.downloadArchive(pid, { jobId: build.id })), 404);
});

await step('pipelines: cancel and retry', async () => {
  let pl = await api.Pipelines.create(pid, 'main', { variables: [{ key: 'SLOW', value: 'yes' }] });
  for (let i = 0; i < 600; i++) {
    const jobs = await api.Jobs.all(pid, { pipelineId: pl.id });
    if (jobs.some((j) => j.name === 'slow' && j.status === 'running')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const canceled = await api.Pipelines.cancel(pid, pl.id);
  assert.equal(typeof canceled, 'object');
  assert.equal(canceled.id, pl.id);
  assert.ok(['canceling', 'canceled'].includes(canceled.status), canceled.status);
  await waitFor(pl.id, 'canceled');
  const retried = await api.Pipelines.retry(pid, pl.id);
  assert.equal(typeof retried, 'object', `retry returned ${typeof retried}`);
  assert.equal(retried.id, pl.id);
  assert.ok(['created', 'pending', 'running'].includes(retried.status), retried.status);
  await api.Pipelines.cancel(pid, pl.id);
  await waitFor(pl.id, 'canceled');
});

await step('triggers: create, show, edit, list, trigger', async () => {
  const t = await api.PipelineTriggerTokens.create(pid, 'deploy hook');
  assert.match(t.token, /^glptt-/);
  assert.equal((await api.PipelineTriggerTokens.show(pid, t.id)).description, 'deploy hook');
  const edited = await api.PipelineTriggerTokens.edit(pid, t.id, { description: 'renamed' });
  assert.equal(edited.description, 'renamed');
  assert.deepEqual((await api.PipelineTriggerTokens.all(pid)).map((x) => x.description), ['renamed']);
  const pl = await api.PipelineTriggerTokens.trigger(pid, 'main', t.token, { variables: { WHO: 'trigger' } });
  assert.equal(pl.source, 'trigger');
  await waitFor(pl.id, 'success');
  const jobs = await api.Jobs.all(pid, { pipelineId: pl.id });
  assert.match(await api.Jobs.showLog(pid, jobs.find((j) => j.name === 'build').id), /built for trigger/);
});

await step('members: add, list, list with inherited', async () => {
  const m = await api.ProjectMembers.add(pid, 30, { userId: devId });
  assert.equal(typeof m, 'object');
  assert.ok(!Array.isArray(m));
  assert.equal(m.id, devId);
  assert.equal(m.access_level, 30);
  assert.deepEqual((await api.ProjectMembers.all(pid)).map((x) => [x.username, x.access_level]), [['dev', 30]]);
  const all = await api.ProjectMembers.all(pid, { includeInherited: true });
  assert.deepEqual(all.map((x) => [x.username, x.access_level]).sort(), [['dev', 30], ['root', 50]]);
});

await step('runners: list, enable, disable', async () => {
  const runnerId = Number(env.RUNNER_ID);
  const before = await api.Runners.all({ projectId: pid });
  assert.ok(before.every((r) => r.id !== runnerId));
  assert.ok(before.some((r) => r.runner_type === 'instance_type'));
  const enabled = await api.Runners.enable(pid, runnerId);
  assert.equal(enabled.id, runnerId);
  assert.ok((await api.Runners.all({ projectId: pid })).some((r) => r.id === runnerId));
  await api.Runners.disable(pid, runnerId);
  assert.ok((await api.Runners.all({ projectId: pid })).every((r) => r.id !== runnerId));
});

await step('repository: branches and tags', async () => {
  const branches = await api.Branches.all(pid);
  assert.deepEqual(branches.map((b) => [b.name, b.default, b.commit.id]), [['main', true, env.SECOND_SHA]]);
  assert.equal((await api.Branches.show(pid, 'main')).commit.title, 'Second commit');
  const tags = await api.Tags.all(pid);
  assert.deepEqual(tags.map((t) => [t.name, t.message, t.commit.id]), [['v1.0', 'first release', env.FIRST_SHA]]);
});

await step('repository: commits', async () => {
  const all = await api.Commits.all(pid, { refName: 'main' });
  assert.deepEqual(all.map((c) => c.id), [env.SECOND_SHA, env.FIRST_SHA]);
  assert.deepEqual((await api.Commits.all(pid, { path: 'docs/guide.md' })).map((c) => c.id), [env.FIRST_SHA]);
  assert.deepEqual((await api.Commits.all(pid, { since: '2999-01-01T00:00:00Z' })).map((c) => c.id), []);
  const c = await api.Commits.show(pid, env.SECOND_SHA, { stats: true });
  assert.equal(c.author_name, env.AUTHOR_NAME);
  assert.deepEqual(c.parent_ids, [env.FIRST_SHA]);
  assert.deepEqual(c.stats, { additions: 2, deletions: 0, total: 2 });
});

await step('repository: tree, files, raw, compare', async () => {
  const tree = await api.Repositories.allRepositoryTrees(pid, { recursive: true, pagination: 'legacy' });
  assert.deepEqual(tree.map((e) => `${e.type}:${e.path}`).sort(),
    ['blob:.gitlab-ci.yml', 'blob:README.md', 'blob:docs/guide.md', 'tree:docs']);
  const f = await api.RepositoryFiles.show(pid, 'docs/guide.md', 'v1.0');
  assert.equal(f.encoding, 'base64');
  assert.equal(Buffer.from(f.content, 'base64').toString(), 'The guide.\n');
  assert.equal(f.last_commit_id, env.FIRST_SHA);
  const rawFile = await api.RepositoryFiles.showRaw(pid, 'README.md', 'main');
  assert.match(typeof rawFile === 'string' ? rawFile : await rawFile.text(), /More\./);
  const cmp = await api.Repositories.compare(pid, 'v1.0', 'main');
  assert.deepEqual(cmp.commits.map((c) => c.id), [env.SECOND_SHA]);
  assert.deepEqual(cmp.diffs.map((d) => d.new_path), ['README.md']);
  assert.match(cmp.diffs[0].diff, /^\+More\./m);
});

await step('commit statuses: report and list', async () => {
  const s = await api.Commits.editStatus(pid, env.SECOND_SHA, 'success', {
    name: 'lint', targetUrl: 'https://ci.example/1', description: 'clean', coverage: 91.5,
  });
  assert.equal(s.status, 'success');
  assert.equal(s.name, 'lint');
  assert.equal(s.target_url, 'https://ci.example/1');
  assert.equal(s.ref, 'main');
  const again = await api.Commits.editStatus(pid, env.SECOND_SHA, 'failed', { name: 'lint' });
  assert.equal(again.id, s.id);
  const list = await api.Commits.allStatuses(pid, env.SECOND_SHA);
  assert.deepEqual(list.map((x) => [x.name, x.status]), [['lint', 'failed']]);
});

await step('pipeline schedules: the pipelines a schedule created', async () => {
  const sc = await api.PipelineSchedules.create(pid, 'nightly', 'main', '0 3 * * *', { cronTimezone: 'UTC', active: false });
  assert.equal(sc.description, 'nightly');
  assert.deepEqual(await api.PipelineSchedules.allTriggeredPipelines(pid, sc.id), []);
  await api.PipelineSchedules.run(pid, sc.id);
  await api.PipelineSchedules.run(pid, sc.id);
  const scheduled = await api.Pipelines.all(pid, { source: 'schedule', orderBy: 'id', sort: 'asc' });
  const triggered = await api.PipelineSchedules.allTriggeredPipelines(pid, sc.id);
  assert.equal(triggered.length, 2);
  assert.deepEqual(triggered.map((p) => p.id), scheduled.map((p) => p.id).slice(-2));
  assert.ok(triggered.every((p) => p.source === 'schedule' && p.ref === 'main' && p.sha === env.SECOND_SHA));
  const again = await api.PipelineSchedules.show(pid, sc.id);
  assert.equal(again.last_pipeline.id, triggered[1].id);
  const page = await api.PipelineSchedules.allTriggeredPipelines(pid, sc.id, { perPage: 1, page: 2, showExpanded: true });
  assert.deepEqual(page.data.map((p) => p.id), [triggered[1].id]);
  assert.equal(page.paginationInfo.total, 2);
  await api.PipelineSchedules.remove(pid, sc.id);
});

console.log(`${passed} passed, 0 failed`);
