// A tiny AWS Lambda Invoke API (POST /2015-03-31/functions/NAME/invocations)
// in front of @vercel/fun, which implements the Lambda Runtime API and runs a
// native "provided" bootstrap (here: gg worker) without Docker. From
// /work/shared/infra.md §B, plus what the tests need:
//   - the functions' environment: every GG_*, ASAN_*, UBSAN_*, LSAN_* variable
//     of this process (fun gives a bootstrap only what it is told);
//   - fault injection: LAMBDA_FAULT_429=N / LAMBDA_FAULT_500=N answer the
//     first N invocations with a throttle / a service error, as AWS does;
//   - a log line per invocation on stderr.
// usage: node fun-invoke-server.js PORT NAME=DIR [NAME=DIR ...]
// PORT 0: a port of its own. Prints "listening PORT" (the port it listens on)
// once it listens.
const http = require('http');
const { createFunction } = require('@vercel/fun');
const port = Number(process.argv[2] || 9001);
const fns = {};
let fault429 = Number(process.env.LAMBDA_FAULT_429 || 0);
let fault500 = Number(process.env.LAMBDA_FAULT_500 || 0);
const env = {};
for (const [k, v] of Object.entries(process.env))
  if (/^(GG_|ASAN_|UBSAN_|LSAN_)/.test(k)) env[k] = v;
(async () => {
  for (const spec of process.argv.slice(3)) {
    const i = spec.indexOf('=');
    const name = spec.slice(0, i), dir = spec.slice(i + 1);
    fns[name] = await createFunction({ FunctionName: name, Code: { Directory: dir }, Handler: 'bootstrap',
      Runtime: 'provided', Timeout: 60, MemorySize: 2048, Region: 'us-east-1',
      Environment: { Variables: env } });
  }
  const server = http.createServer((req, res) => {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url.split('?')[0]);
    if (req.method !== 'POST' || !m) { res.writeHead(404); return res.end(); }
    const fn = fns[decodeURIComponent(m[1])];
    if (!fn) {
      res.writeHead(404, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ResourceNotFoundException' });
      return res.end(JSON.stringify({ Type: 'User', message: 'Function not found: ' + m[1] }));
    }
    const signed = /AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization || '');
    const chunks = []; req.on('data', c => chunks.push(c)); req.on('end', async () => {
      if (fault429 > 0) {
        fault429--;
        console.error('invoke', m[1], '-> 429 (fault injected)');
        res.writeHead(429, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'TooManyRequestsException' });
        return res.end(JSON.stringify({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User', message: 'Rate Exceeded.' }));
      }
      if (fault500 > 0) {
        fault500--;
        console.error('invoke', m[1], '-> 500 (fault injected)');
        res.writeHead(500, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ServiceException' });
        return res.end(JSON.stringify({ Type: 'Service', message: 'fault injected' }));
      }
      try {
        const r = await fn.invoke({ InvocationType: 'RequestResponse', Payload: Buffer.concat(chunks).toString() });
        const h = { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' };
        if (r.FunctionError) h['X-Amz-Function-Error'] = r.FunctionError;
        console.error('invoke', m[1], signed ? '(signed)' : '(unsigned)', '->', r.StatusCode || 200, r.FunctionError || 'ok');
        res.writeHead(r.StatusCode || 200, h); res.end(String(r.Payload));
      } catch (e) {
        console.error('invoke', m[1], '-> 500', String(e));
        res.writeHead(500); res.end(JSON.stringify({ message: String(e) }));
      }
    });
  });
  server.listen(port, '127.0.0.1', () => console.log('listening', server.address().port));
  // fun's destroy() does not await pool.clear(), so await it here or the bootstraps outlive us
  const stop = async () => { for (const f of Object.values(fns)) { await f.destroy(); await f.provider.pool.clear(); } process.exit(0); };
  process.on('SIGTERM', stop); process.on('SIGINT', stop);
})().catch(e => { console.error(e); process.exit(1); });
