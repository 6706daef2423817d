/**
 * `npm run train:examples` as one JavaScript file, for a machine with Node but without this
 * repository's node_modules (scripts/device/bundle.sh builds it): the examples are imported here
 * statically, since a bundle cannot import scripts/examples/*.ts at run time. Same arguments.
 */
import flow from '../examples/flow.ts';
import gan from '../examples/gan.ts';
import judge from '../examples/judge.ts';
import ldmAutoencoder from '../examples/ldm-autoencoder.ts';
import ldmFinetune from '../examples/ldm-finetune.ts';
import ldmExtend from '../examples/ldm-extend.ts';
import ldmPolish from '../examples/ldm-polish.ts';
import ldmSettle from '../examples/ldm-settle.ts';
import ldm from '../examples/ldm.ts';
import vaeGan from '../examples/vae-gan.ts';
import vae from '../examples/vae.ts';
import { main } from '../train-examples.ts';

main(process.argv.slice(2), [judge, vae, gan, vaeGan, flow, ldmAutoencoder, ldm, ldmFinetune, ldmSettle, ldmExtend, ldmPolish]).catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
