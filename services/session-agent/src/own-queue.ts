/** Pattern of this instance's own dispatch queue (its name holds the instance id). */
export const OWN_QUEUE_PATTERN = 'session-agent.own';
