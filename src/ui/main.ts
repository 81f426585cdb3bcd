/**
 * Entry of the Studio page (index.html). Each panel lives in its own module
 * under src/ui/ and is handed its element here; the training controls and
 * charts take the GPU context that the adapter panel resolves to.
 */
import { showAdapter } from './adapterPanel';

const adapterPanel = document.querySelector<HTMLElement>('#adapter');
if (!adapterPanel) throw new Error('index.html has no #adapter panel');
void showAdapter(adapterPanel);
