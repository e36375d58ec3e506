"""The API's URLs, mounted under /api/ by the root URLconf. This URL contract is public: keep it."""

from django.urls import URLPattern, path

from api import export_views, overview, views

urlpatterns: list[URLPattern] = [
    path("articles/", views.ArticleListView.as_view(), name="article-list"),
    path("articles/export/", export_views.ArticleExportView.as_view(), name="article-export"),
    path("articles/export/jobs/", export_views.ExportJobCreateView.as_view(), name="article-export-jobs"),
    path("articles/export/jobs/<uuid:pk>/", export_views.ExportJobDetailView.as_view(), name="article-export-job"),
    path(
        "articles/export/jobs/<uuid:pk>/download/",
        export_views.ExportJobDownloadView.as_view(),
        name="article-export-job-download",
    ),
    path("articles/<int:pk>/", views.ArticleDetailView.as_view(), name="article-detail"),
    path("articles/<int:pk>/comments/", views.ArticleCommentListView.as_view(), name="article-comments"),
    path("authors/", views.AuthorListView.as_view(), name="author-list"),
    path("authors/<int:pk>/", views.AuthorDetailView.as_view(), name="author-detail"),
    path("tags/", views.TagListView.as_view(), name="tag-list"),
    path("stats/", views.StatsView.as_view(), name="stats"),
    path("overview/", overview.OverviewView.as_view(), name="overview"),
    path("me/articles/", views.MyArticleListView.as_view(), name="my-article-list"),
]
