/** Who must act on a failure: the agent (fix the call, ask the person, wait), an administrator, or PingOne. */
export const RESPONSIBLE = ['agent', 'admin', 'pingone'] as const;
export type Responsible = (typeof RESPONSIBLE)[number];
