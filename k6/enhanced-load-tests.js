// Enhanced k6 load-test suite for the demo service (and any service with the same API).
//
//   k6 run k6/enhanced-load-tests.js                              # smoke: 1 VU for 1m
//   K6_SCENARIO=load k6 run k6/enhanced-load-tests.js             # ramp to 100 VUs, 10m
//   K6_SCENARIO=stress K6_VUS=50 k6 run k6/enhanced-load-tests.js # stress ramp, peak 50 VUs
//   K6_VUS=500 K6_DURATION=20m k6 run k6/enhanced-load-tests.js   # 500 VUs constant, 20m
//   K6_SCENARIO=api_throughput TARGET_RPS=750 k6 run k6/enhanced-load-tests.js
//
// Environment:
//   BASE_URL             the service (default http://127.0.0.1:8000; perfgate sets it)
//   K6_SCENARIO          smoke | load | stress | spike | endurance | api_throughput |
//                        database_stress (default smoke)
//   K6_VUS               peak virtual users; a ramp keeps its shape, scaled to this peak
//   K6_DURATION          k6's own option: k6 then replaces the ramp with K6_VUS (or the
//                        scenario's peak) constant VUs for this long, running the same flow
//   TARGET_RPS           arrival rate of api_throughput, requests per second (default 500)
//   THINK_TIME           mean think time between a user's steps in seconds (default 1)
//   PERFGATE_TIME_SCALE  multiplies every duration (perfgate sets it from --time-scale)
//   DEMO_PASSWORD        the password of the demo sign-in (default demo)
//
// Request names (the `name` tag) match the requests of perfgate's http driver in
// examples/k6/targets.yml, so the same targets judge both drivers.

import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

// --- settings ------------------------------------------------------------------------------

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const SCENARIO = __ENV.K6_SCENARIO || 'smoke';
const TIME_SCALE = positive(__ENV.PERFGATE_TIME_SCALE, 1);
const TARGET_RPS = Math.round(positive(__ENV.TARGET_RPS, 500));
const THINK_TIME = nonNegative(__ENV.THINK_TIME, 1);
const PASSWORD = __ENV.DEMO_PASSWORD || 'demo';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

function positive(raw, fallback) {
  const value = parseFloat(raw);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function nonNegative(raw, fallback) {
  const value = parseFloat(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

// Seconds -> a k6 duration, after the time scale.
function duration(secs) {
  return `${Math.max(1, Math.round(secs * TIME_SCALE * 1000))}ms`;
}

// --- workload profiles (the plan's test scenarios) -----------------------------------------

// Each ramping profile: its peak VUs and stages as [seconds, share of the peak].
const PROFILES = {
  smoke: { peak: 1, stages: [[60, 1]], constant: true },
  load: { peak: 100, stages: [[60, 1], [480, 1], [60, 0]] },
  stress: { peak: 500, stages: [[120, 0.5], [180, 1], [480, 1], [120, 0]] },
  spike: { peak: 1000, stages: [[30, 0.05], [30, 1], [180, 1], [30, 0.05], [30, 0]] },
  endurance: { peak: 200, stages: [[120, 1], [3360, 1], [120, 0]] },
  database_stress: { peak: 50, stages: [[30, 1], [240, 1], [30, 0]] },
};

function rampingScenario(name) {
  const profile = PROFILES[name];
  const peak = peakVUs(name);
  const exec = EXEC[name];
  if (profile.constant) {
    return { executor: 'constant-vus', vus: peak, duration: duration(profile.stages[0][0]), exec };
  }
  return {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: profile.stages.map(([secs, share]) => ({
      duration: duration(secs),
      target: Math.round(peak * share),
    })),
    gracefulRampDown: duration(10),
    exec,
  };
}

function throughputScenario() {
  const maxVUs = Math.max(10, Math.round(positive(__ENV.K6_VUS, TARGET_RPS)));
  return {
    executor: 'constant-arrival-rate',
    rate: TARGET_RPS,
    timeUnit: '1s',
    duration: duration(300),
    preAllocatedVUs: Math.min(maxVUs, Math.max(10, Math.ceil(TARGET_RPS / 10))),
    maxVUs,
    exec: 'apiCall',
  };
}

// The function each scenario runs; the default export runs the chosen one too, so k6's own
// K6_DURATION / --duration (which replace the scenarios) still run the right flow.
const EXEC = {
  smoke: 'userJourney',
  load: 'userJourney',
  stress: 'userJourney',
  spike: 'userJourney',
  endurance: 'userJourney',
  api_throughput: 'apiCall',
  database_stress: 'databaseStress',
};

function peakVUs(name) {
  const fallback = PROFILES[name] ? PROFILES[name].peak : Math.max(10, Math.ceil(TARGET_RPS / 10));
  return Math.max(1, Math.round(positive(__ENV.K6_VUS, fallback)));
}

function scenarioFor(name) {
  if (name === 'api_throughput') return throughputScenario();
  if (PROFILES[name]) return rampingScenario(name);
  const known = [...Object.keys(PROFILES), 'api_throughput'].join(', ');
  throw new Error(`K6_SCENARIO=${name} is not a scenario of this suite; use one of: ${known}`);
}

// --- custom metrics ------------------------------------------------------------------------

const apiLatency = new Trend('api_latency', true); // JSON API calls only
const dbQueryTime = new Trend('db_query_time', true); // reads that missed the cache
const loginDuration = new Trend('login_duration', true);
const cacheHits = new Rate('cache_hit_rate'); // X-Cache: HIT among cached reads
const apiErrors = new Rate('api_errors'); // API calls with an unexpected answer
const recordsCreated = new Counter('records_created');
const journeys = new Counter('user_journeys');

// --- options and thresholds (the plan's targets) -------------------------------------------

const thresholds = {
  http_req_duration: ['p(95)<200'], // API response time P95 < 200ms
  'http_req_duration{name:health}': ['p(95)<100'],
  http_req_failed: ['rate<0.05'], // error rate < 5%
  checks: ['rate>0.95'],
  api_errors: ['rate<0.05'],
  db_query_time: ['p(95)<100'], // database query time P95 < 100ms
};
if (SCENARIO === 'api_throughput') {
  // Throughput > 500 RPS (or 90% of a smaller TARGET_RPS), under 1% of arrivals dropped.
  thresholds.http_reqs = [`rate>${Math.min(500, TARGET_RPS * 0.9)}`];
  thresholds.dropped_iterations = [`rate<${Math.max(1, TARGET_RPS * 0.01)}`];
}
if (SCENARIO === 'endurance') {
  thresholds.cache_hit_rate = ['rate>0.8']; // cache hit rate > 80% over a long, warm run
}

export const options = {
  scenarios: { [SCENARIO]: scenarioFor(SCENARIO) },
  vus: peakVUs(SCENARIO), // used only when k6's duration option replaces the scenarios
  thresholds,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  tags: { suite: 'enhanced-load-tests' },
};

// --- requests ------------------------------------------------------------------------------

function think(mean = THINK_TIME) {
  if (mean > 0) sleep(mean * (0.5 + Math.random())); // uniform in [0.5, 1.5) x mean
}

// Checks one API answer; `name` is the request's name tag (the check stays one series).
function api(response, name, expected, extra = {}) {
  const ok = check(response, {
    [`${name} is ${expected}`]: (r) => r.status === expected,
    ...extra,
  });
  apiLatency.add(response.timings.duration);
  apiErrors.add(!ok);
  return ok;
}

function cached(response) {
  const header = response.headers['X-Cache'];
  if (header) {
    cacheHits.add(header === 'HIT');
    if (header === 'MISS') dbQueryTime.add(response.timings.duration);
  }
}

function json(response) {
  try {
    return response.json();
  } catch (_) {
    return null;
  }
}

function listRecords(limit, offset, flow) {
  const res = http.get(`${BASE_URL}/api/records?limit=${limit}&offset=${offset}`,
    { tags: { name: 'records', flow } });
  api(res, 'records', 200, { 'records has items': (r) => Array.isArray((json(r) || {}).items) });
  cached(res);
  return json(res) || { items: [], total: 0 };
}

function getRecord(id, flow) {
  const res = http.get(`${BASE_URL}/api/records/${id}`, { tags: { name: 'record', flow } });
  api(res, 'record', 200);
  cached(res);
  return res;
}

function login(flow) {
  const user = `user-${__VU}`;
  const res = http.post(`${BASE_URL}/api/login`, JSON.stringify({ username: user, password: PASSWORD }),
    { headers: JSON_HEADERS, tags: { name: 'login', flow } });
  api(res, 'login', 200, { 'login returns a token': (r) => Boolean((json(r) || {}).token) });
  loginDuration.add(res.timings.duration);
  const body = json(res);
  return body && body.token ? body.token : null;
}

// --- user flows ----------------------------------------------------------------------------

function browse(total) {
  group('browse', () => {
    const page = http.get(`${BASE_URL}/`, { tags: { name: 'home', flow: 'browse' } });
    check(page, { 'home page is 200': (r) => r.status === 200 });
    think();
    const list = listRecords(20, 0, 'browse');
    think();
    const items = list.items || [];
    const picks = 1 + Math.floor(Math.random() * 3);
    for (let i = 0; i < picks && items.length; i += 1) {
      getRecord(items[Math.floor(Math.random() * items.length)].id, 'browse');
      think();
    }
    if (!items.length && total) getRecord(1 + Math.floor(Math.random() * total), 'browse');
  });
}

function paginate(total) {
  group('paginate', () => {
    const pages = Math.max(1, Math.ceil(total / 20));
    const start = Math.floor(Math.random() * pages);
    for (let i = 0; i < 3; i += 1) {
      listRecords(20, ((start + i) % pages) * 20, 'paginate');
      think();
    }
  });
}

function profile() {
  group('profile', () => {
    const token = login('profile');
    think();
    if (!token) return;
    const me = http.get(`${BASE_URL}/api/me`,
      { headers: { Authorization: `Bearer ${token}` }, tags: { name: 'me', flow: 'profile' } });
    api(me, 'me', 200, { 'me is the signed-in user': (r) => (json(r) || {}).user === `user-${__VU}` });
    think();
  });
}

function create() {
  group('create', () => {
    const token = login('create');
    think();
    const body = JSON.stringify({ name: `k6 record ${__VU}-${__ITER}`, value: Math.random() * 1000 });
    const headers = Object.assign({}, JSON_HEADERS, token ? { Authorization: `Bearer ${token}` } : {});
    const res = http.post(`${BASE_URL}/api/records`, body, { headers, tags: { name: 'create', flow: 'create' } });
    if (api(res, 'create', 201, { 'created record has an id': (r) => Boolean((json(r) || {}).id) })) {
      recordsCreated.add(1);
      think(THINK_TIME / 2);
      getRecord(json(res).id, 'create');
    }
    think();
  });
}

function health() {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health', flow: 'health' } });
  check(res, { 'health is ok': (r) => r.status === 200 && (json(r) || {}).status === 'ok' });
  think();
}

// Weighted like real traffic: mostly reading, some signing in, a few writes.
const FLOWS = [
  [50, browse],
  [20, paginate],
  [15, profile],
  [10, create],
  [5, health],
];
const FLOW_WEIGHT = FLOWS.reduce((sum, [weight]) => sum + weight, 0);

function pickFlow() {
  let roll = Math.random() * FLOW_WEIGHT;
  for (const [weight, flow] of FLOWS) {
    roll -= weight;
    if (roll < 0) return flow;
  }
  return FLOWS[0][1];
}

// --- lifecycle -----------------------------------------------------------------------------

export function setup() {
  const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health', flow: 'setup' } });
  if (res.status !== 200) {
    throw new Error(`${BASE_URL}/health answered ${res.status || res.error}: is the service up?`);
  }
  const list = http.get(`${BASE_URL}/api/records?limit=1`, { tags: { name: 'records', flow: 'setup' } });
  return { total: (json(list) || {}).total || 0 };
}

// A user's visit: one weighted flow with think time between steps.
export function userJourney(data) {
  pickFlow()(data.total);
  journeys.add(1);
}

// One API call per iteration, no think time: the arrival rate sets the pace.
export function apiCall(data) {
  const roll = Math.random();
  if (roll < 0.6) {
    getRecord(1 + Math.floor(Math.random() * Math.max(1, data.total)), 'throughput');
  } else if (roll < 0.95) {
    const offset = Math.floor(Math.random() * Math.max(1, data.total / 20)) * 20;
    listRecords(20, offset, 'throughput');
  } else {
    const res = http.get(`${BASE_URL}/health`, { tags: { name: 'health', flow: 'throughput' } });
    check(res, { 'health is ok': (r) => r.status === 200 });
  }
}

// Reads that miss the cache (random large pages) mixed with writes that invalidate it, each
// followed by a short random pause of 0-50 ms (THINK_TIME does not apply).
export function databaseStress(data) {
  const roll = Math.random();
  const total = Math.max(1, data.total);
  if (roll < 0.5) {
    const limit = 50 + Math.floor(Math.random() * 51);
    listRecords(limit, Math.floor(Math.random() * total), 'database');
  } else if (roll < 0.8) {
    getRecord(1 + Math.floor(Math.random() * total), 'database');
  } else {
    const body = JSON.stringify({ name: `db stress ${__VU}-${__ITER}`, value: __ITER });
    const res = http.post(`${BASE_URL}/api/records`, body, { headers: JSON_HEADERS, tags: { name: 'create', flow: 'database' } });
    if (api(res, 'create', 201)) recordsCreated.add(1);
  }
  sleep(0.05 * Math.random());
}

const FUNCTIONS = { userJourney, apiCall, databaseStress };

export default function (data) {
  FUNCTIONS[EXEC[SCENARIO]](data);
}
