/* The start page (/ui/): after sign-in, the pages this key's role may use. */
"use strict";

UI.start(async (me) => {
  let any = false;
  for (const li of document.querySelectorAll("#home-links li[data-roles]")) {
    li.hidden = !li.dataset.roles.split(" ").includes(me.role);
    any = any || !li.hidden;
  }
  UI.show(UI.$("home-none"), !any);
});
