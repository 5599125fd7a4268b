// The app in a process of its own, for the flood test: its memory and event loop are then the
// server's alone, not shared with the flooding client. Prints the port, serves until killed.
import { buildApp } from '../../src/http/app.js';

const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) } });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${new URL(address).port}\n`);
