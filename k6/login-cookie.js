// A login that depends on a session cookie: the same flow as
// examples/login-cookie/targets.yml, for k6. k6's cookie jar keeps the `session` cookie the
// login sets and sends it to /me; it is emptied at each iteration.
//
//   python examples/login-cookie/server.py --port 8012 &
//   LOGIN_PASSWORD=wonderland k6 run k6/login-cookie.js
//   perfgate run examples/login-cookie/targets-k6.yml      # through perfgate
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8012';
const PASSWORD = __ENV.LOGIN_PASSWORD || 'wonderland';

export const options = {
  vus: Number(__ENV.K6_VUS || 5),
  duration: __ENV.K6_DURATION || '5s',
};

export default function () {
  const login = http.post(`${BASE_URL}/login`, { user: 'ann', password: PASSWORD },
    { tags: { name: 'login' } });
  check(login, { 'status is 200': (r) => r.status === 200 });
  const me = http.get(`${BASE_URL}/me`, { tags: { name: 'me' } });
  check(me, {
    'status is 200': (r) => r.status === 200,
    'json user == ann': (r) => r.status === 200 && r.json('user') === 'ann',
  });
  const out = http.post(`${BASE_URL}/logout`, null, { tags: { name: 'logout' } });
  check(out, { 'status is 200': (r) => r.status === 200 });
}
