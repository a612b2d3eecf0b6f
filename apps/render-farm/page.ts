/**
 * The render farm's one page: sign up or sign in (a username and a password, checked by the
 * stack's Cognito user pool), submit a render, watch it (polling JSON every second), see the
 * image. Plain HTML and a few lines of script, no framework. The element ids are stable (the
 * browser test drives them): #username #password #sign-in #sign-up #message #who #sign-out #size
 * #tiles #iterations #submit #progress #tiles-done #workers #backlog #status #result.
 */
import { DEFAULT_FRACTAL } from './fractal';

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Render farm: cdk-cloud-patterns</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222 }
fieldset { border: 1px solid #ccc; margin: 1rem 0 } label { margin-right: 1rem }
#progress { font-variant-numeric: tabular-nums; margin: 1rem 0 } #bar { height: .5rem; background: #eee } #bar div { height: 100%; background: #2a7; width: 0 }
#result { display: block; margin-top: 1rem; max-width: 100%; image-rendering: auto } [hidden] { display: none !important }
</style></head>
<body>
<h1>Render farm</h1>
<p>Each render is split into tiles; each tile is a job on a work queue. Small renders go to a Lambda worker, larger ones to a fleet of EC2 workers that grows with the backlog. Tiles are stored in shared storage, counted in a shared table, then assembled into the image.</p>
<section id="signed-out">
  <label>Username <input id="username" autocomplete="username" maxlength="40"></label>
  <label>Password <input id="password" type="password" autocomplete="current-password" maxlength="256"></label>
  <button id="sign-in">Sign in</button> <button id="sign-up">Sign up</button>
  <p><small>A new account needs a password of at least 12 characters with upper and lower case letters, a digit and a symbol.</small></p>
</section>
<p id="message" role="alert"></p>
<section id="signed-in" hidden>
  <p>Signed in as <strong id="who"></strong>. <button id="sign-out">Sign out</button></p>
  <fieldset><legend>New render</legend>
    <label>Size <select id="size"><option>256</option><option selected>${DEFAULT_FRACTAL.size}</option><option>1024</option></select></label>
    <label>Tiles <select id="tiles"><option value="1">1</option><option value="2">4 (Lambda)</option><option value="4" selected>16 (fleet)</option><option value="8">64 (fleet)</option></select></label>
    <label>Iterations <input id="iterations" type="number" min="10" max="20000" value="${DEFAULT_FRACTAL.maxIterations}" style="width:6rem"></label>
    <button id="submit">Render</button>
  </fieldset>
  <div id="progress" hidden>
    <div id="bar"><div></div></div>
    Tiles <span id="tiles-done">0</span> &middot; fleet workers <span id="workers">-</span> &middot; backlog <span id="backlog">-</span> &middot; <span id="status"></span>
  </div>
  <img id="result" alt="the finished render" hidden>
</section>
<script>
const $ = (id) => document.getElementById(id);
let polling;
async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error || res.status);
  return json;
}
function show(name) {
  $('signed-out').hidden = !!name; $('signed-in').hidden = !name; $('who').textContent = name || '';
}
async function poll(id) {
  let r;
  try { r = await api('/api/renders/' + id); } catch (e) { $('status').textContent = 'retrying (' + e.message + ')'; return; }
  $('tiles-done').textContent = r.tilesDone + ' / ' + r.tiles;
  $('bar').firstElementChild.style.width = (100 * r.tilesDone / r.tiles) + '%';
  $('workers').textContent = r.workers === null ? '-' : r.workers;
  $('backlog').textContent = r.backlog === null ? '-' : r.backlog;
  $('status').textContent = r.status === 'finished' ? 'finished in ' + (r.elapsedMs / 1000).toFixed(1) + ' s' : r.status + ' (' + r.lane + ' queue)';
  if (r.status === 'finished' && r.imageUrl) {
    clearInterval(polling);
    $('result').onload = () => $('result').setAttribute('data-render-id', id);
    $('result').src = r.imageUrl; $('result').hidden = false;
  }
}
async function enter(path) {
  $('message').textContent = '';
  const me = await api(path, { username: $('username').value.trim(), password: $('password').value }).catch((e) => { $('message').textContent = e.message; });
  $('password').value = '';
  if (me) show(me.username);
}
$('sign-in').onclick = () => enter('/api/sign-in');
$('sign-up').onclick = () => enter('/api/sign-up');
$('sign-out').onclick = async () => { await api('/api/sign-out', {}); clearInterval(polling); show(null); };
$('submit').onclick = async () => {
  const size = Number($('size').value), tilesPerSide = Number($('tiles').value);
  const params = { size, tilesPerSide, centerX: ${DEFAULT_FRACTAL.centerX}, centerY: ${DEFAULT_FRACTAL.centerY}, width: ${DEFAULT_FRACTAL.width}, maxIterations: Number($('iterations').value) };
  let r;
  $('message').textContent = '';
  try { r = await api('/api/renders', params); } catch (e) { $('message').textContent = e.message; return; }
  clearInterval(polling); $('result').hidden = true; $('result').removeAttribute('data-render-id'); $('progress').hidden = false;
  $('progress').setAttribute('data-render-id', r.id);
  polling = setInterval(() => poll(r.id), 1000); poll(r.id);
};
api('/api/me').then((me) => show(me.username), () => show(null));
</script>
</body></html>
`;
