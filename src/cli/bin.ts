// Entry point of the `sluice` command (bin/sluice.js loads the compiled copy).
import { main } from './main.js';

await main(process.argv);
