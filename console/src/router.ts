import { createRouter, createWebHistory } from "vue-router";

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/", redirect: "/search" },
    { path: "/login", name: "login", component: () => import("./views/LoginView.vue") },
    { path: "/search", name: "search", component: () => import("./views/SearchView.vue") },
    { path: "/backups", name: "backups", component: () => import("./views/BackupsView.vue") },
    {
      path: "/backups/:id",
      name: "backup",
      component: () => import("./views/BackupView.vue"),
      props: true,
    },
    { path: "/records", name: "records", component: () => import("./views/RecordsView.vue") },
    { path: "/schedules", name: "schedules", component: () => import("./views/SchedulesView.vue") },
    { path: "/:rest(.*)*", redirect: "/search" },
  ],
});
