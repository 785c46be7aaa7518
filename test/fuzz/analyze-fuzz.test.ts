/** The fuzz campaign's first cases and the real binary's exit codes; the whole campaign is analyze-fuzz.long.test.ts. */
import { fuzzCampaign } from './campaign.js';

fuzzCampaign(24, { binary: true });
