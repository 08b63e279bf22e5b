/**
 * How many members the console's Team page reads first. The server names that exact read as a
 * preload in the page's HTML (src/server/modules/console), so both must use this one number.
 */
export const TEAM_FIRST_PAGE = 50;
