/** The whole fuzz campaign (npm run test:long): 1000 mutated exports, each analysed in every form. */
import { FULL_CAMPAIGN, fuzzCampaign } from './campaign.js';

fuzzCampaign(FULL_CAMPAIGN, { binary: false });
